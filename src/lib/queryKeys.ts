// Query keys shared across features (a generation anywhere refreshes History).
export const historyQueryKey = ["requests"] as const;
