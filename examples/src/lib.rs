//! Runnable end-to-end examples for wasme: see the `examples/` folder and README.
