"""Services: orchestrate the pure domain and the adapters. Nothing here imports azure.functions."""
