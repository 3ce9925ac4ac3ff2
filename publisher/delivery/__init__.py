"""Delivery: subscribers' messages from the send ledger to a transport."""
