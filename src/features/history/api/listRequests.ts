import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { commands, type ExportFormat, type LedgerFacets, type LedgerFilter, type LedgerPage, type RequestDetail } from "../../../bindings";
import { unwrap } from "../../../lib/ipc";

import { historyQueryKey } from "../../../lib/queryKeys";

export { historyQueryKey };

export const PAGE_SIZE = 100;

export const EMPTY_FILTER: LedgerFilter = {
  from: null,
  to: null,
  use_case: null,
  provider: null,
  model: null,
  status: null,
  caller: null,
  search: null,
};

export function useLedgerPage(filter: LedgerFilter, cursor: string | null) {
  return useQuery({
    queryKey: [...historyQueryKey, "page", filter, cursor],
    queryFn: async (): Promise<LedgerPage> => unwrap(await commands.ledgerPage(filter, cursor, PAGE_SIZE)),
    placeholderData: keepPreviousData,
  });
}

/** How many rows the filter matches, asked beside the page (it may take longer on a large ledger). */
export function useLedgerCount(filter: LedgerFilter) {
  return useQuery({
    queryKey: [...historyQueryKey, "count", filter],
    queryFn: async (): Promise<number | null> => unwrap(await commands.ledgerCount(filter)),
    placeholderData: keepPreviousData,
  });
}

export function useLedgerFacets() {
  return useQuery({
    queryKey: [...historyQueryKey, "facets"],
    queryFn: async (): Promise<LedgerFacets> => unwrap(await commands.ledgerFacets()),
  });
}

export function useRequestDetail(id: string | null) {
  return useQuery({
    queryKey: [...historyQueryKey, "detail", id],
    queryFn: async (): Promise<RequestDetail> => unwrap(await commands.requestDetail(id!)),
    enabled: id != null,
  });
}

export async function exportLedger(filter: LedgerFilter, format: ExportFormat) {
  return unwrap(await commands.exportLedger(filter, format));
}
