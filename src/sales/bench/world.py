"""The synthetic world the benchmarks run on: ten cities, their zones and localities, people's names."""
from __future__ import annotations

# city -> (share of RMs and demand, {zone: [localities]})
CITIES: dict[str, tuple[float, dict[str, list[str]]]] = {
    "Bangalore": (0.18, {
        "South": ["Koramangala", "HSR Layout", "BTM Layout", "Jayanagar", "JP Nagar", "Banashankari", "Electronic City"],
        "East": ["Indiranagar", "Whitefield", "Marathahalli", "Bellandur", "Sarjapur Road", "KR Puram"],
        "North": ["Hebbal", "Yelahanka", "RT Nagar", "Thanisandra", "Jakkur"],
        "West": ["Rajajinagar", "Malleshwaram", "Vijayanagar", "Basaveshwaranagar"]}),
    "Mumbai": (0.17, {
        "Western Suburbs": ["Andheri", "Bandra", "Juhu", "Goregaon", "Malad", "Borivali", "Kandivali"],
        "Central": ["Dadar", "Parel", "Worli", "Lower Parel", "Sion"],
        "Eastern Suburbs": ["Powai", "Ghatkopar", "Mulund", "Chembur", "Vikhroli"],
        "Navi Mumbai": ["Vashi", "Kharghar", "Nerul", "Panvel"]}),
    "Delhi": (0.12, {
        "South": ["Saket", "Hauz Khas", "Vasant Kunj", "Greater Kailash", "Malviya Nagar"],
        "West": ["Janakpuri", "Dwarka", "Rajouri Garden", "Punjabi Bagh"],
        "North": ["Rohini", "Pitampura", "Model Town", "Civil Lines"]}),
    "Pune": (0.10, {
        "West": ["Kothrud", "Baner", "Aundh", "Wakad", "Hinjewadi"],
        "East": ["Viman Nagar", "Kharadi", "Hadapsar", "Magarpatta", "Wagholi"]}),
    "Hyderabad": (0.10, {
        "West": ["Gachibowli", "Madhapur", "Kondapur", "Kukatpally", "Hitech City"],
        "Central": ["Banjara Hills", "Jubilee Hills", "Ameerpet", "Begumpet"]}),
    "Chennai": (0.09, {
        "South": ["Adyar", "Velachery", "OMR", "Sholinganallur", "Thiruvanmiyur"],
        "Central": ["T Nagar", "Anna Nagar", "Nungambakkam", "Mylapore"]}),
    "Gurgaon": (0.07, {
        "Central": ["DLF Phase 1", "DLF Phase 4", "Sushant Lok", "Sector 56"],
        "New Gurgaon": ["Sohna Road", "Golf Course Extension", "Sector 82", "Dwarka Expressway"]}),
    "Noida": (0.06, {
        "Noida": ["Sector 18", "Sector 62", "Sector 137", "Sector 150"],
        "Greater Noida": ["Noida Extension", "Pari Chowk", "Alpha 1"]}),
    "Kolkata": (0.06, {
        "South": ["Ballygunge", "Tollygunge", "Behala", "Jadavpur"],
        "East": ["Salt Lake", "New Town", "Rajarhat", "EM Bypass"]}),
    "Ahmedabad": (0.05, {
        "West": ["Satellite", "Bodakdev", "Prahlad Nagar", "Vastrapur", "SG Highway"],
        "East": ["Maninagar", "Naroda", "Nikol"]}),
}

FIRST = ["Priya", "Rahul", "Ananya", "Vikram", "Sneha", "Arjun", "Kavya", "Rohan", "Meera", "Aditya", "Isha",
         "Karan", "Divya", "Nikhil", "Pooja", "Siddharth", "Neha", "Varun", "Riya", "Aman", "Lakshmi", "Suresh",
         "Fatima", "Imran", "Gurpreet", "Harpreet", "Anjali", "Deepak", "Swati", "Manoj", "Shreya", "Tanvi"]
LAST = ["Patel", "Sharma", "Iyer", "Reddy", "Nair", "Gupta", "Menon", "Joshi", "Rao", "Kulkarni", "Singh",
        "Khan", "Das", "Banerjee", "Mehta", "Shah", "Pillai", "Chatterjee", "Verma", "Agarwal"]
