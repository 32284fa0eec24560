"""What the bus's HTTP apps share: one security policy for every response they send."""
