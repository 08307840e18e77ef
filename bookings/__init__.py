"""A project's rooms and equipment, booked for working sessions without double booking, the
week calendar and each member's private ICS feed."""
