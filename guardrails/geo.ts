/**
 * Where an event happened, as events may say it (all optional): `country` (ISO 3166-1 alpha-2),
 * `lat`/`lon` (degrees), `deviceId`. Validated here so a detector never reasons about garbage.
 */
import { z } from 'zod';

export const eventContextSchema = z
  .strictObject({
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2 country code')
      .optional(),
    lat: z.number().min(-90).max(90).optional(),
    lon: z.number().min(-180).max(180).optional(),
    deviceId: z.string().min(1).max(200).optional(),
  })
  .refine((c) => (c.lat === undefined) === (c.lon === undefined), {
    message: 'lat and lon come together',
    path: ['lat'],
  });

export type EventContext = z.infer<typeof eventContextSchema>;

const EARTH_KM = 6371.0088;
const rad = (deg: number): number => (deg * Math.PI) / 180;

/** Great-circle distance in km (haversine). */
export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }) {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
