"""qakit: customer-service quality assurance analysis kit."""
__version__ = "0.1.0"
