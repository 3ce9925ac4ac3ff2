"""The translation stage: engines behind one protocol, and the service around them."""
