/** One schema change, applied once per database in list order; `id` is never reused. */
export interface Migration {
  readonly id: string;
  /** One or more statements; they run in the migration's transaction. */
  readonly sql: string;
}

/** The databases GoZon keeps: one per service. */
export type Service = 'orders' | 'payments';
