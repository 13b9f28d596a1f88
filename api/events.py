"""Turns domain events (crm.events) into webhook deliveries for the partners that asked."""
