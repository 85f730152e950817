"""itbot: a self-hosted IT assistant for hospitals and clinics."""
