"""Creative and audience tests: planning, statistics, launch, closing, angles (issue 15)."""
