"""The browser explorer: a read-only web application over the shared database.

Researchers read colleagues' transcripts side by side, watch batches fill in and open the
analyses without a terminal. `simulator explore` serves it (simulator/web/server.py); pages
are rendered on the server from the same actions the commands use, with Jinja2 (autoescape
on), and the little JavaScript and CSS they need ship in this package (static/), so it works
offline. Nothing here writes to the database.
"""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
