"""The catalog: cinemas, auditoriums and their seat maps, genres, movies and screenings."""
