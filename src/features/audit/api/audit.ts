import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { commands, type AuditEntry, type AuditFilter } from "../../../bindings";
import { unwrap } from "../../../lib/ipc";

export function auditQueryOptions(filter: AuditFilter) {
  return {
    queryKey: ["audit", filter] as const,
    queryFn: async (): Promise<AuditEntry[]> => unwrap(await commands.listAudit(filter)),
  };
}

export function useAudit(filter: AuditFilter) {
  return useQuery({ ...auditQueryOptions(filter), placeholderData: keepPreviousData });
}
