"""A script that never reaches fit: it loops while preparing its data."""
while True:
    pass
