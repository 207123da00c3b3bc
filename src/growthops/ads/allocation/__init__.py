"""Budget allocation across the budget-holding entities of an account (issue 15, seed 004
``ads.budget_allocation``), and the stored per-campaign roll-ups ``ads.campaign_performance``.

Modules: :mod:`.curves` (the Bayesian response curve per entity: power law fitted in log space,
its posterior and draws; pure NumPy), :mod:`.solve` (the concave allocation under a cap, an
objective floor and the target; pure), :mod:`.allocate` (reads the account, runs Thompson
sampling, steps within the guard rails, stores ``ads.allocation_runs`` / ``ads.budget_allocation``
and the budget suggestions), :mod:`.performance` (``ads.campaign_performance`` and its
``efficiency_score``). See ``docs/allocation.md``.
"""
