"""LLM Interaction Simulator: LLM agents in roles talking to each other, every message kept in MongoDB."""

__version__ = "0.1.0"
