"""The App, the Router, and how handlers are registered on them."""
