/** An error that belongs to the HTTP edge itself (body, media type, routing), not the domain. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
