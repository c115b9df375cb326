"""The embeddable widget's script, and the demo host app that shows it (`make run`)."""
