"""Transparent proxies on the bypass router: what they are (catalog), which one runs and
how (detect), how dualnat keeps forwarded traffic away from them (exclude), and how the
doctor recognises forwarded flows they captured (doctor)."""
