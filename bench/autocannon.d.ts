// The part of autocannon's API the benchmarks use (the package ships no types).
declare module 'autocannon' {
  interface Histogram {
    average: number
    total: number
    p50: number
    p99: number
  }
  interface Result {
    requests: Histogram
    latency: Histogram
    throughput: Histogram
    non2xx: number
    errors: number
  }
  interface Options {
    url: string
    connections?: number
    duration?: number
    requests?: Array<{ method?: string; path?: string; setupRequest?: (req: { path: string }) => { path: string } }>
    headers?: Record<string, string>
    body?: string
  }
  export default function autocannon(options: Options): Promise<Result>
}
