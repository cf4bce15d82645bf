"""Generation back ends behind one Protocol per capability. Providers know nothing about runs."""
