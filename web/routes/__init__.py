"""Routers: ``pages`` (HTML), ``forms`` (HTML posts), ``files`` (artifacts, charts), ``api``."""
