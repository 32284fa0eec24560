"""What the bus's HTTP apps share: who is calling, and the headers every response carries."""
