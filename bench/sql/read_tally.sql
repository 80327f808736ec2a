SELECT tally.snapshot('admin');
