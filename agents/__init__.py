"""Baseline dispatch agents: heuristic schedulers and learned policies."""

__all__: list[str] = []
