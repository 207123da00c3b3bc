"""growthops: the open-source platform marketing agencies run their AI operations on."""

__version__ = "0.1.0"
