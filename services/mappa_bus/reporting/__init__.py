"""The yearly MAPPA statistics: their tables (pure) and, later, the consumer that counts them."""
