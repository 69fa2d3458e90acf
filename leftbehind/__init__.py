"""Build and serve the Left Behind Neighbourhoods open dataset."""
