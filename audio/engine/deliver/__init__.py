"""``deliver``: a release (masters in order, gaps, trims, fades, codes, artwork) made into the
files a CD plant and a distributor take, with a QC report of what they would refuse."""
