export const hello = (): string => "dataset";
