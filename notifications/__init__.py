"""What concerns a person, told to them: the in-app inbox, live, and the e-mail digest."""
