"""service layer: configuration, daemon lifecycle, syscall-drop monitoring."""
