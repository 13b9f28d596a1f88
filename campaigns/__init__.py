"""Campaigns: statements, petitions and pledges that members and the public sign."""
