import { MantineProvider, createTheme, type MantineColorScheme } from "@mantine/core";
import { Notifications } from "@mantine/notifications";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { UnsavedChangesProvider } from "./unsaved";

const theme = createTheme({ primaryColor: "indigo", defaultRadius: "md" });

export function makeQueryClient() {
  return new QueryClient({ defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } } });
}

/** Theme, notifications and server-state cache around the app (and around tests). */
export function Providers({
  children,
  colorScheme = "auto",
  client,
  env = "default",
}: {
  children: ReactNode;
  colorScheme?: MantineColorScheme;
  client?: QueryClient;
  /** "test" turns off transitions and portals, as Mantine recommends for unit tests. */
  env?: "default" | "test";
}) {
  const [queryClient] = useState(() => client ?? makeQueryClient());
  return (
    <MantineProvider theme={theme} defaultColorScheme={colorScheme} env={env}>
      <Notifications />
      <QueryClientProvider client={queryClient}>
        <UnsavedChangesProvider>{children}</UnsavedChangesProvider>
      </QueryClientProvider>
    </MantineProvider>
  );
}
