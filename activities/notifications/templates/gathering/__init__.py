"""Templates of the gatherings' notices (see ``activities.notifications.gatherings``)."""
