"""G100 export limitation: the site's boundary export against its agreed limit through household load steps, the
correction of an excursion, and the fail-safe on loss of the boundary sensor."""
