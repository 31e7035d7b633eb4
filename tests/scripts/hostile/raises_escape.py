"""The script raises before fit with a message holding a terminal escape sequence."""
raise RuntimeError("bad data \x1b[31mRED\x1b[0m in column [bold]x[/bold]")
