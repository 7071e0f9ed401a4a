// How a cinema's place reads: the address, with the city added only when the address lacks it.
export function placeLine(cinema) {
  const address = (cinema.address || "").trim();
  const city = (cinema.city || "").trim();
  if (!address) return city;
  return city && !address.toLowerCase().includes(city.toLowerCase()) ? `${address}, ${city}` : address;
}
