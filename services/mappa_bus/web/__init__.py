"""What the bus's HTTP apps share: who is calling, the hosts they answer, and one security
policy for every response they send."""
