"""Evaluation of the offers, decision, letters, DECP (docs/design.md)."""
