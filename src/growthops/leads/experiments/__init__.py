"""Prompt registry and A/B tests (:mod:`.prompts`) with their statistics (:mod:`.stats`)."""
