"""The explorer's pages, one module per kind of thing a researcher looks at."""
