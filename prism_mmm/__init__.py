"""PrismMMM: marketing mix modelling that lives in the warehouse."""

__version__ = "0.1.0"
