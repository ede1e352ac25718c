"""Generated CRI (runtime.v1) client code: ``api_pb2`` messages, ``api_pb2_grpc`` stubs.

The proto is a subset of the Kubernetes CRI API (see ``api.proto``); ``generate.py``
rebuilds the two modules from it.
"""
