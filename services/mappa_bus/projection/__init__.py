"""What every projection service shares: state and consumed offsets kept in one transaction."""
