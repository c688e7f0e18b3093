"""The test suite. A regular package, so that `tests` here wins over the stray top-level
`tests` package tf-keras-vis 0.8.7 installs into site-packages (the benchmarks import
`tests.cindex_reference`)."""
