"""Time planned against time spent: estimates, time logged by members, the totals per song and
per stage."""
