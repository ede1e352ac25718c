"""Identity and cwd events: setuid/setresuid, setgid/setresgid, setsid, capset (who the
thread acts as), chdir/fchdir (where relative paths start)."""

from __future__ import annotations

from typing import Any

from sentry.inspect.handler_base import Handler, HandlerBase, join_path
from sentry.inspect.threads import ThreadInfo, dir_path


class IdentityEvents(HandlerBase):
    """Handlers of the events that change a thread's credentials or working directory."""

    def _identity_exits(self) -> dict[str, Handler]:
        """This module's exit handlers, by syscall name."""
        return {
            "chdir": self._on_chdir_exit,
            "fchdir": self._on_fchdir_exit,
            "setuid": self._on_setuid_exit,
            "setresuid": self._on_setuid_exit,
            "setgid": self._on_setgid_exit,
            "setresgid": self._on_setgid_exit,
            "setsid": self._on_setsid_exit,
            "capset": self._on_capset_exit,
        }

    def _on_chdir_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        path = ev.param_by_name("path")
        if res is None or res < 0 or not isinstance(path, str):
            return
        main = th.main_thread()
        main.cwd = th.cwd = dir_path(join_path(main.cwd, path))

    def _on_fchdir_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is None or res < 0 or ev.fdinfo is None:
            return
        main = th.main_thread()
        main.cwd = th.cwd = dir_path(ev.fdinfo.name)

    def _on_setuid_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        enter = self._entered(ev, th)
        uid = enter.get("uid", enter.get("euid"))
        if res == 0 and uid is not None and uid != 0xFFFFFFFF and uid != -1:
            th.uid = uid & 0xFFFFFFFF

    def _on_setgid_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        enter = self._entered(ev, th)
        gid = enter.get("gid", enter.get("egid"))
        if res == 0 and gid is not None and gid != 0xFFFFFFFF and gid != -1:
            th.gid = gid & 0xFFFFFFFF

    def _on_capset_exit(self, ev: Any, th: ThreadInfo) -> None:
        param = ev.param_by_name
        caps = param("cap_inheritable"), param("cap_permitted"), param("cap_effective")
        if param("res") == 0 and None not in caps:
            th.cap_inheritable, th.cap_permitted, th.cap_effective = caps

    def _on_setsid_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is not None and res >= 0:
            th.sid = res
